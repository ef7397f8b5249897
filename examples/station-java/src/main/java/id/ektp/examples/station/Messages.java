package id.ektp.examples.station;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * What the station writes to Kafka: keys are UTF-8 text, values UTF-8 JSON, no headers (the contract names none).
 *
 * <p>Event ids are derived from what they report, so a message sent again after a crash is the same event.
 */
final class Messages {
    static final String PRINT_REQUESTED = "ektp.print.requested";
    static final String PRINT_COMPLETED = "ektp.print.completed";
    /** Internal to the pipeline, yet the only place it shows a refused job today (see the README). */
    static final String STATUS_NOTES = "ektp.internal.status-notes";
    static final String PRODUCER = "ektp-examples/station-java";
    // Same text as the project's own station, so that operators read the same note whichever station refused.
    static final String REFUSAL_NOTE = "print refused: approval signature invalid";

    private static final ObjectMapper JSON = new ObjectMapper();

    private Messages() {
    }

    /** CardPrinted (CardPrinted.schema.json) on `ektp.print.completed`, keyed by citizen key. */
    static ProducerRecord<byte[], byte[]> cardPrinted(Journal.Card card, String stationId) {
        ObjectNode value = envelope("card/" + stationId + "/" + card.requestId() + "/" + card.cardSerial(),
                card.requestId(), card.printedAt())
                .put("citizen_key", card.citizenKey()).put("job_id", card.jobId())
                .put("card_serial", card.cardSerial()).put("blank_serial", card.blankSerial())
                .put("station_id", stationId).put("printed_at", card.printedAt().toString());
        return record(PRINT_COMPLETED, card.citizenKey(), value);
    }

    /** StatusNoted on `ektp.internal.status-notes`, keyed by citizen key, as the project's station notes a refusal. */
    static ProducerRecord<byte[], byte[]> refusalNote(Journal.Refusal refusal, String stationId) {
        ObjectNode value = envelope("refused/" + stationId + "/" + refusal.jobKey(), refusal.requestId(), refusal.refusedAt())
                .put("citizen_key", refusal.citizenKey()).put("state", "PRINT_QUEUED")
                .put("note", REFUSAL_NOTE + " (" + refusal.reason() + ", station " + stationId + ")")
                .put("office_code", refusal.officeCode());
        return record(STATUS_NOTES, refusal.citizenKey(), value);
    }

    private static ObjectNode envelope(String name, String requestId, Instant occurredAt) {
        return JSON.createObjectNode().put("schema_version", 1)
                .put("event_id", UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString())
                .put("request_id", requestId).put("occurred_at", occurredAt.toString()).put("producer", PRODUCER);
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, String key, ObjectNode value) {
        return new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value.toString().getBytes(StandardCharsets.UTF_8));
    }
}
