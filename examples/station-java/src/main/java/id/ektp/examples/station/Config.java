package id.ektp.examples.station;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/** What the station is told: each setting from a command-line option, else an environment variable, else a default. */
record Config(
        String bootstrapServers, String centralUrl, String stationId, String officeCode,
        Path outDir, Path stateDir, String groupId, String crashAt) {

    static final String USAGE = """
            usage: java -jar ektp-station-java.jar [options]
              --bootstrap-servers HOST:PORT  Kafka        (STATION_BOOTSTRAP_SERVERS, default 127.0.0.1:9092)
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
        String station = setting.get("station", "STATION_ID", "JAVA-01");
        Config config = new Config(
                setting.get("bootstrap-servers", "STATION_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
                setting.get("central-url", "STATION_CENTRAL_URL", "http://127.0.0.1:8600"),
                station,
                setting.get("office", "STATION_OFFICE", "2172"),
                Path.of(setting.get("out-dir", "STATION_OUT_DIR", "cards-" + station)).toAbsolutePath(),
                Path.of(setting.get("state-dir", "STATION_STATE_DIR", "state-" + station)).toAbsolutePath(),
                setting.get("group", "STATION_GROUP", "ektp-station-java-" + station),
                env.getOrDefault("STATION_CRASH_AT", ""));
        if (!options.isEmpty()) {
            throw new IllegalArgumentException("unknown options: " + options.keySet());
        }
        if (!STATION_ID.matcher(config.stationId).matches()) {
            throw new IllegalArgumentException("station id: letters, digits, '-' and '_', at most 32");
        }
        if (!OFFICE_CODE.matcher(config.officeCode).matches()) {
            throw new IllegalArgumentException("office code: four digits, e.g. 2172");
        }
        return config;
    }

    String jwksUrl() {
        return centralUrl.replaceAll("/+$", "") + "/v1/jwks";
    }

    @FunctionalInterface
    private interface Setting {
        String get(String option, String variable, String fallback);
    }
}
