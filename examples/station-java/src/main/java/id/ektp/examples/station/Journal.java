package id.ektp.examples.station;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The station's memory, an append-only file of JSON lines, each fsynced before the station acts on it.
 *
 * <p>It says which request has which card (reserved, then printed, then reported to Kafka) and which job
 * was refused (then noted on Kafka). Read back at start; a last line cut short by a crash was never
 * synced, so nothing was done on it, and it is dropped. It holds ids, citizen keys and serials, never
 * card data: after a crash the job itself comes again from Kafka, whose offset is committed only once
 * every job of a batch is reported or refused.
 */
final class Journal implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The one card of a request: serials reserved first; `printedAt` once it came out; `reported` once Kafka has it. */
    record Card(String requestId, String jobId, String citizenKey, String cardSerial, String blankSerial,
                Instant printedAt, boolean reported) {
        boolean printed() {
            return printedAt != null;
        }
    }

    /** A job whose approval did not verify; `noted` once its status note is on Kafka. */
    record Refusal(String jobKey, String requestId, String jobId, String citizenKey, String officeCode,
                   String reason, String kid, Instant refusedAt, boolean noted) {
    }

    private final String stationId;
    private final FileChannel file;
    private final Map<String, Card> cards = new HashMap<>(); // by request_id: never two
    private final Map<String, Refusal> refusals = new HashMap<>(); // by job key
    private int cardsIssued;

    private Journal(String stationId, FileChannel file) {
        this.stationId = stationId;
        this.file = file;
    }

    static Journal open(Path path, String stationId) throws IOException {
        boolean fresh = !Files.exists(path);
        byte[] content = fresh ? new byte[0] : Files.readAllBytes(path);
        int whole = lastNewline(content) + 1;
        if (whole < content.length) {
            Log.warning("journal: a last line cut short by a crash dropped", "bytes", content.length - whole);
            try (FileChannel cut = FileChannel.open(path, StandardOpenOption.WRITE)) {
                cut.truncate(whole);
                cut.force(true);
            }
        }
        Journal journal = new Journal(stationId, FileChannel.open(
                path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
        String lines = new String(content, 0, whole, StandardCharsets.UTF_8);
        for (String line : lines.split("\n")) {
            if (!line.isBlank()) {
                journal.replay(JSON.readTree(line));
            }
        }
        if (fresh) {
            Durable.syncFolder(path.getParent());
            journal.append(journal.entry("station").put("station_id", stationId));
        }
        return journal;
    }

    Card card(String requestId) {
        return cards.get(requestId);
    }

    Refusal refusal(String jobKey) {
        return refusals.get(jobKey);
    }

    List<Card> cards() {
        return new ArrayList<>(cards.values());
    }

    List<Refusal> refusals() {
        return new ArrayList<>(refusals.values());
    }

    /** Takes the next card and blank serial for the job's request: durable before the card is made. */
    Card reserve(PrintJob job) throws IOException {
        if (cards.containsKey(job.requestId())) {
            throw new IllegalStateException("request " + job.requestId() + " already has a card");
        }
        int number = cardsIssued + 1;
        append(entry("card").put("request_id", job.requestId()).put("job_id", job.jobId())
                .put("citizen_key", job.citizenKey()).put("card_serial", String.format("%s-%08d", stationId, number))
                .put("blank_serial", String.format("BLK-%s-%06d", stationId, number)));
        return cards.get(job.requestId());
    }

    Card printed(Card card, Instant printedAt) throws IOException {
        append(entry("printed").put("request_id", card.requestId()).put("printed_at", printedAt.toString()));
        return cards.get(card.requestId());
    }

    Card reported(Card card) throws IOException {
        append(entry("reported").put("request_id", card.requestId()));
        return cards.get(card.requestId());
    }

    Refusal refuse(PrintJob job, ApprovalVerifier.Refused verdict, Instant at) throws IOException {
        append(entry("refused").put("job_key", job.jobKey()).put("request_id", job.requestId())
                .put("job_id", job.jobId()).put("citizen_key", job.citizenKey()).put("office_code", job.officeCode())
                .put("reason", verdict.reason()).put("kid", verdict.kid()).put("refused_at", at.toString()));
        return refusals.get(job.jobKey());
    }

    Refusal noted(Refusal refusal) throws IOException {
        append(entry("noted").put("job_key", refusal.jobKey()));
        return refusals.get(refusal.jobKey());
    }

    @Override
    public void close() throws IOException {
        file.close();
    }

    private ObjectNode entry(String kind) {
        return JSON.createObjectNode().put("entry", kind);
    }

    /** Writes one line and syncs it, then applies it: what the station knows is what is on disk. */
    private void append(ObjectNode entry) throws IOException {
        ByteBuffer line = ByteBuffer.wrap((entry + "\n").getBytes(StandardCharsets.UTF_8));
        while (line.hasRemaining()) {
            file.write(line);
        }
        file.force(false);
        replay(entry);
    }

    private void replay(JsonNode entry) {
        String requestId = entry.path("request_id").asText();
        switch (entry.path("entry").asText()) {
            case "station" -> {
                if (!stationId.equals(entry.path("station_id").asText())) {
                    throw new IllegalStateException("this is the journal of station " + entry.path("station_id").asText());
                }
            }
            case "card" -> {
                cardsIssued++;
                cards.put(requestId, new Card(requestId, entry.path("job_id").asText(), entry.path("citizen_key").asText(),
                        entry.path("card_serial").asText(), entry.path("blank_serial").asText(), null, false));
            }
            case "printed" -> cards.computeIfPresent(requestId, (id, card) -> new Card(id, card.jobId(), card.citizenKey(),
                    card.cardSerial(), card.blankSerial(), Instant.parse(entry.path("printed_at").asText()), false));
            case "reported" -> cards.computeIfPresent(requestId, (id, card) -> new Card(id, card.jobId(), card.citizenKey(),
                    card.cardSerial(), card.blankSerial(), card.printedAt(), true));
            case "refused" -> refusals.put(entry.path("job_key").asText(), new Refusal(entry.path("job_key").asText(),
                    requestId, entry.path("job_id").asText(), entry.path("citizen_key").asText(),
                    entry.path("office_code").asText(), entry.path("reason").asText(), textOrNull(entry, "kid"),
                    Instant.parse(entry.path("refused_at").asText()), false));
            case "noted" -> refusals.computeIfPresent(entry.path("job_key").asText(), (key, refusal) -> new Refusal(key,
                    refusal.requestId(), refusal.jobId(), refusal.citizenKey(), refusal.officeCode(), refusal.reason(),
                    refusal.kid(), refusal.refusedAt(), true));
            default -> throw new IllegalStateException("journal: unknown entry " + entry);
        }
    }

    private static String textOrNull(JsonNode entry, String field) {
        JsonNode value = entry.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static int lastNewline(byte[] content) {
        for (int i = content.length - 1; i >= 0; i--) {
            if (content[i] == '\n') {
                return i;
            }
        }
        return -1;
    }
}
