package id.ektp.examples.station;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/** The station's log: one JSON object a line on stdout. Never given card data (no NIK, no name). */
final class Log {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Log() {
    }

    static void info(String event, Object... fields) {
        write("info", event, fields);
    }

    static void warning(String event, Object... fields) {
        write("warning", event, fields);
    }

    static void error(String event, Object... fields) {
        write("error", event, fields);
    }

    /** What an operator must act on: a forged or altered approval. */
    static void critical(String event, Object... fields) {
        write("critical", event, fields);
    }

    /** `fields` are name, value pairs. */
    private static synchronized void write(String level, String event, Object... fields) {
        ObjectNode line = JSON.createObjectNode();
        line.put("at", Instant.now().toString());
        line.put("level", level);
        line.put("event", event);
        for (int i = 0; i + 1 < fields.length; i += 2) {
            line.put(String.valueOf(fields[i]), fields[i + 1] == null ? null : String.valueOf(fields[i + 1]));
        }
        System.out.println(line);
        System.out.flush();
    }
}
