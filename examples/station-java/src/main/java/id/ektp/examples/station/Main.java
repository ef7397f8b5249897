package id.ektp.examples.station;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** `java -jar ektp-station-java.jar [options]`: one printing station, until SIGTERM or Ctrl-C. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && ("--help".equals(args[0]) || "-h".equals(args[0]))) {
            System.out.print(Config.USAGE);
            return;
        }
        Config config;
        try {
            config = Config.from(args, System.getenv());
        } catch (IllegalArgumentException error) {
            System.err.println(error.getMessage() + "\n" + Config.USAGE);
            System.exit(2);
            return;
        }
        warnIfOthersMayRead(config.kafka());
        Durable.privateFolder(config.stateDir());
        try (FileChannel lockFile = FileChannel.open(config.stateDir().resolve("station.lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockFile.tryLock()) {
            if (lock == null) { // a second process would share the journal and the card counter
                System.err.println("station " + config.stationId() + " already runs (" + config.stateDir() + ")");
                System.exit(1);
            }
            run(config);
        }
    }

    private static void run(Config config) throws IOException {
        AtomicBoolean stopping = new AtomicBoolean();
        try (Journal journal = Journal.open(config.stateDir().resolve("journal.jsonl"), config.stationId());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig(config));
             KafkaConsumer<byte[], byte[]> jobs = new KafkaConsumer<>(consumerConfig(config))) {
            CentralKeys keys = new CentralKeys(config.jwksUrl(), config.stateDir().resolve("jwks.json"));
            Station station = new Station(config, journal, new ApprovalVerifier(keys),
                    new CardPrinter(config.outDir(), config.stationId()), jobs, producer, stopping);
            Thread main = Thread.currentThread();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stopping.set(true);
                jobs.wakeup();
                try {
                    main.join(15_000); // the current job's step ends; a kill at any instant is safe anyway
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }));
            station.run();
        }
    }

    /** The password is the station's: a credentials file others may read is reported (never its content). */
    private static void warnIfOthersMayRead(Config.Kafka kafka) throws IOException {
        Set<PosixFilePermission> permissions;
        try {
            permissions = Files.getPosixFilePermissions(kafka.file());
        } catch (UnsupportedOperationException notPosix) {
            return;
        }
        permissions.retainAll(Set.of(PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ));
        if (!permissions.isEmpty()) {
            Log.warning("credentials file readable by other users: make it mode 0600", "file", kafka.file());
        }
    }

    /** What the producer and the consumer share: the broker, and logging in as the station's user. */
    private static Properties clientConfig(Config config) {
        Properties properties = new Properties();
        properties.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        properties.put(CommonClientConfigs.CLIENT_ID_CONFIG, config.groupId());
        Config.Kafka kafka = config.kafka();
        properties.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, kafka.securityProtocol());
        properties.put(SaslConfigs.SASL_MECHANISM, Config.Kafka.MECHANISM);
        properties.put(SaslConfigs.SASL_JAAS_CONFIG, kafka.jaasConfig()); // a password type: kafka logs it hidden
        if (kafka.caFile() != null) { // TLS: the broker's certificate must chain to the project's CA
            properties.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
            properties.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, kafka.caFile().toString());
        }
        return properties;
    }

    private static Properties producerConfig(Config config) {
        Properties properties = clientConfig(config);
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return properties;
    }

    private static Properties consumerConfig(Config config) {
        Properties properties = clientConfig(config);
        properties.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        // Static membership: a restarted station takes its partitions straight back, without waiting for
        // the session of the process it replaces to time out.
        properties.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "station-" + config.stationId());
        properties.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100);
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        return properties;
    }
}
