package id.ektp.examples.station;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the station is told: each setting from a command-line option, else an environment variable, else a default
 * (the bootstrap servers' default is the credentials file's).
 */
record Config(
        String bootstrapServers, Kafka kafka, String centralUrl, String stationId, String officeCode,
        Path outDir, Path stateDir, String groupId, String crashAt) {

    static final String USAGE = """
            usage: java -jar ektp-station-java.jar --credentials FILE [options]
              --credentials FILE             how it logs in to Kafka (STATION_CREDENTIALS, required): the JSON of
                                             `ektp credentials --role station --json`, in a file of mode 0600
              --bootstrap-servers HOST:PORT  Kafka        (STATION_BOOTSTRAP_SERVERS, default the credentials')
              --central-url URL              central       (STATION_CENTRAL_URL, default http://127.0.0.1:8600)
              --station ID                   this station  (STATION_ID, default JAVA-01)
              --office CODE                  its office    (STATION_OFFICE, default 2172)
              --out-dir DIR                  printed cards (STATION_OUT_DIR, default ./cards-<station>)
              --state-dir DIR                its journal   (STATION_STATE_DIR, default ./state-<station>)
              --group ID                     consumer group (STATION_GROUP, default ektp-station-java-<station>)
            """;

    // As the contract's station ids and office codes: plain, since they end up in file names and client ids.
    private static final Pattern STATION_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,31}");
    private static final Pattern OFFICE_CODE = Pattern.compile("[0-9]{4}");

    static Config from(String[] args, Map<String, String> env) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --option value, got " + args[i]);
            }
            options.put(args[i].substring(2), args[i + 1]);
        }
        Setting setting = (option, variable, fallback) -> {
            String value = options.remove(option);
            return value != null ? value : env.getOrDefault(variable, fallback);
        };
        String credentials = setting.get("credentials", "STATION_CREDENTIALS", "");
        String bootstrapServers = setting.get("bootstrap-servers", "STATION_BOOTSTRAP_SERVERS", "");
        String station = setting.get("station", "STATION_ID", "JAVA-01");
        String centralUrl = setting.get("central-url", "STATION_CENTRAL_URL", "http://127.0.0.1:8600");
        String office = setting.get("office", "STATION_OFFICE", "2172");
        Path outDir = Path.of(setting.get("out-dir", "STATION_OUT_DIR", "cards-" + station)).toAbsolutePath();
        Path stateDir = Path.of(setting.get("state-dir", "STATION_STATE_DIR", "state-" + station)).toAbsolutePath();
        String group = setting.get("group", "STATION_GROUP", "ektp-station-java-" + station);
        if (!options.isEmpty()) {
            throw new IllegalArgumentException("unknown options: " + options.keySet());
        }
        if (!STATION_ID.matcher(station).matches()) {
            throw new IllegalArgumentException("station id: letters, digits, '-' and '_', at most 32");
        }
        if (!OFFICE_CODE.matcher(office).matches()) {
            throw new IllegalArgumentException("office code: four digits, e.g. 2172");
        }
        if (credentials.isBlank()) {
            throw new IllegalArgumentException("--credentials FILE is required: every Kafka listener asks for "
                    + "SASL/SCRAM; write the file with `ektp credentials --role station --json`");
        }
        JsonNode file = Kafka.readFile(Path.of(credentials).toAbsolutePath());
        if (bootstrapServers.isBlank()) { // not given: the broker the credentials are for
            String named = file.path("bootstrap_servers").asText("");
            bootstrapServers = named.isBlank() ? "127.0.0.1:9092" : named;
        }
        return new Config(bootstrapServers, Kafka.from(file, Path.of(credentials).toAbsolutePath()), centralUrl,
                station, office, outDir, stateDir, group, env.getOrDefault("STATION_CRASH_AT", ""));
    }

    String jwksUrl() {
        return centralUrl.replaceAll("/+$", "") + "/v1/jwks";
    }

    /**
     * How the station logs in to Kafka: SASL/SCRAM-SHA-512 as the station's user, over TLS (`SASL_SSL`) when
     * the broker is off the loopback, trusting the CA named in the credentials file. `toString` hides the
     * password, so a Kafka or a Config in a log line says whose it is, never the password.
     */
    record Kafka(Path file, String securityProtocol, String username, String password, Path caFile) {
        static final String MECHANISM = "SCRAM-SHA-512";
        private static final Set<String> PROTOCOLS = Set.of("SASL_PLAINTEXT", "SASL_SSL");
        // A malformed file's error names a line and column, never an excerpt of the file (the password).
        private static final ObjectMapper JSON = JsonMapper.builder()
                .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION).build();

        static JsonNode readFile(Path file) {
            try {
                JsonNode node = JSON.readTree(Files.readAllBytes(file));
                if (node == null || !node.isObject()) {
                    throw new IllegalArgumentException("credentials " + file + ": not a JSON object");
                }
                return node;
            } catch (NoSuchFileException error) {
                throw new IllegalArgumentException("credentials " + file + ": no such file; write it with "
                        + "`ektp credentials --role station --json`", error);
            } catch (JsonProcessingException error) {
                throw new IllegalArgumentException("credentials " + file + ": not JSON (line "
                        + error.getLocation().getLineNr() + ", column " + error.getLocation().getColumnNr() + ")");
            } catch (IOException error) {
                throw new IllegalArgumentException("credentials " + file + ": unreadable: " + error, error);
            }
        }

        static Kafka from(JsonNode node, Path file) {
            String protocol = text(node, file, "security_protocol");
            if (!PROTOCOLS.contains(protocol)) {
                throw new IllegalArgumentException("credentials " + file + ": security_protocol " + protocol
                        + ", expected one of " + PROTOCOLS);
            }
            String mechanism = node.path("sasl_mechanism").asText(MECHANISM);
            if (!MECHANISM.equals(mechanism)) {
                throw new IllegalArgumentException("credentials " + file + ": sasl_mechanism " + mechanism
                        + ", expected " + MECHANISM);
            }
            Path caFile = null;
            if ("SASL_SSL".equals(protocol) && node.hasNonNull("ssl_cafile")) {
                // a relative path is taken beside the credentials file
                caFile = file.resolveSibling(text(node, file, "ssl_cafile")).toAbsolutePath();
                if (!Files.isReadable(caFile)) {
                    throw new IllegalArgumentException("credentials " + file + ": no readable CA certificate at "
                            + caFile + " (ssl_cafile)");
                }
            }
            return new Kafka(file, protocol, text(node, file, "sasl_plain_username"),
                    text(node, file, "sasl_plain_password"), caFile);
        }

        private static String text(JsonNode node, Path file, String field) {
            JsonNode value = node.get(field);
            if (value == null || !value.isTextual() || value.asText().isEmpty()) {
                throw new IllegalArgumentException("credentials " + file + ": no " + field);
            }
            return value.asText();
        }

        /** The JAAS line of kafka-clients' SCRAM login: quotes and backslashes in a value escaped. */
        String jaasConfig() {
            return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                    + quoted(username) + "\" password=\"" + quoted(password) + "\";";
        }

        private static String quoted(String value) {
            return value.replace("\\", "\\\\").replace("\"", "\\\"");
        }

        @Override
        public String toString() {
            return "Kafka[file=" + file + ", securityProtocol=" + securityProtocol + ", username=" + username
                    + ", password=***, caFile=" + caFile + "]";
        }
    }

    @FunctionalInterface
    private interface Setting {
        String get(String option, String variable, String fallback);
    }
}
