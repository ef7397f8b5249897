package id.ektp.examples.station;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * The printer: one JSON file a card, `<card serial>.json`, in a folder only the station's user can read
 * (a card shows the citizen's data). A file under that name is a card that came out; a `.partial` file is
 * a card cut short by a crash, never a card, and is removed at start.
 */
final class CardPrinter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path folder;
    private final String stationId;

    CardPrinter(Path folder, String stationId) throws IOException {
        this.folder = folder;
        this.stationId = stationId;
        Durable.privateFolder(folder);
        try (DirectoryStream<Path> partial = Files.newDirectoryStream(folder, "*.partial")) {
            for (Path path : partial) {
                Files.delete(path);
            }
        }
    }

    /** When the card of `cardSerial` came out, if it did. */
    Optional<Instant> printedAt(String cardSerial) {
        Path card = folder.resolve(cardSerial + ".json");
        if (!Files.exists(card)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.parse(JSON.readTree(card.toFile()).path("printed_at").asText()));
        } catch (IOException error) {
            throw new UncheckedIOException(error);
        }
    }

    /** Prints the job's card under the reserved serials; the card is on disk when this returns. */
    Instant print(Journal.Card card, JsonNode cardData, Instant printedAt) throws IOException {
        byte[] content = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(JSON.createObjectNode()
                .put("card_serial", card.cardSerial()).put("blank_serial", card.blankSerial())
                .put("station_id", stationId).put("request_id", card.requestId()).put("job_id", card.jobId())
                .put("printed_at", printedAt.toString()).set("card", cardData));
        Durable.writeAtomically(folder.resolve(card.cardSerial() + ".json"), content);
        return printedAt;
    }
}
