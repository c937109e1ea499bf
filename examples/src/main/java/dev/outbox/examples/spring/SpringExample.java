package dev.outbox.examples.spring;

import dev.outbox.Outbox;
import javax.sql.DataSource;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.annotation.EnableTransactionManagement;

/**
 * The wiring of a Spring application that uses the outbox: a transaction manager on the application's data source,
 * the outbox as a bean, and services whose {@code @Transactional} methods append. In Spring Boot the data source,
 * {@code JdbcTemplate} and transaction manager are auto-configured; only the two outbox beans are yours.
 */
@Configuration
@EnableTransactionManagement
public class SpringExample {

    /**
     * Starts an application context around an existing data source and outbox.
     *
     * @param dataSource the application's data source
     * @param outbox the outbox
     * @return the running context, which the caller closes
     */
    public static AnnotationConfigApplicationContext start(DataSource dataSource, Outbox outbox) {
        AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext();
        // Registered as ready-made singletons: the context then never closes them. A bean Spring creates from a
        // supplier and that is AutoCloseable (as a pool is) would be closed with the context.
        context.getBeanFactory().registerSingleton("dataSource", dataSource);
        context.getBeanFactory().registerSingleton("outbox", outbox);
        context.register(SpringExample.class);
        context.refresh();
        return context;
    }

    /**
     * @param dataSource the application's data source
     * @return the transaction manager that binds a connection per transaction
     */
    @Bean
    public PlatformTransactionManager transactionManager(DataSource dataSource) {
        return new DataSourceTransactionManager(dataSource);
    }

    /**
     * @param dataSource the application's data source
     * @return the template for business writes
     */
    @Bean
    public JdbcTemplate jdbcTemplate(DataSource dataSource) {
        return new JdbcTemplate(dataSource);
    }

    /**
     * @param dataSource the application's data source
     * @param outbox the outbox
     * @return the outbox bound to Spring's transactions
     */
    @Bean
    public SpringOutbox springOutbox(DataSource dataSource, Outbox outbox) {
        return new SpringOutbox(dataSource, outbox);
    }

    /**
     * @param jdbc the template
     * @param outbox the outbox bound to Spring's transactions
     * @return the service, proxied so that its {@code @Transactional} methods run in a transaction
     */
    @Bean
    public OrderService orderService(JdbcTemplate jdbc, SpringOutbox outbox) {
        return new OrderService(jdbc, outbox);
    }
}
