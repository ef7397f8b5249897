package id.ektp.examples.station;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A print job of `ektp.print.requested` (PrintRequested.schema.json), read as a tolerant reader: the fields
 * this station needs, unknown ones ignored.
 *
 * @param jobKey the job id and a digest of the message: the same message twice is one job; a second message
 *               under the same job id (an altered copy) is a job of its own, refused or printed on its own
 */
record PrintJob(
        String requestId, String jobId, String citizenKey, String officeCode, String stationId,
        String approvalToken, JsonNode card, String jobKey) {

    static final String PRINT_READY = "PRINT_READY_RECORD";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");
    private static final Pattern CITIZEN_KEY = Pattern.compile("[0-9a-f]{64}");

    /** A message this station cannot read as a print job: logged and skipped, as the Python station does. */
    static final class Unreadable extends Exception {
        Unreadable(String reason) {
            super(reason);
        }
    }

    static PrintJob decode(byte[] value) throws Unreadable {
        if (value == null) {
            throw new Unreadable("no value");
        }
        JsonNode job;
        try {
            job = JSON.readTree(value);
        } catch (IOException error) {
            throw new Unreadable("not JSON");
        }
        if (job == null || !job.isObject()) {
            throw new Unreadable("not a JSON object");
        }
        String requestId = text(job, "request_id");
        String citizenKey = text(job, "citizen_key");
        if (!REQUEST_ID.matcher(requestId).matches() || !CITIZEN_KEY.matcher(citizenKey).matches()) {
            throw new Unreadable("request_id or citizen_key is not as the contract says");
        }
        if (job.has("decision") && !PRINT_READY.equals(job.get("decision").asText())) {
            throw new Unreadable("decision is not " + PRINT_READY);
        }
        JsonNode card = job.get("card");
        if (card == null || !card.isObject() || !card.path("nik").isTextual()) {
            throw new Unreadable("no card data");
        }
        JsonNode station = job.get("station_id");
        // A job without a token is kept: verification refuses it, as a security alert, instead of dropping it.
        String token = job.path("approval_token").isTextual() ? job.get("approval_token").asText().strip() : "";
        String jobId = text(job, "job_id");
        return new PrintJob(requestId, jobId, citizenKey, text(job, "office_code"),
                station == null || station.isNull() ? null : station.asText(), token, card,
                jobId + "#" + sha256(value).substring(0, 24));
    }

    /** Jobs of this station's office meant for any of its stations, or for this one. */
    boolean isFor(String office, String station) {
        return officeCode.equals(office) && (stationId == null || stationId.equals(station));
    }

    String nik() {
        return card.get("nik").asText();
    }

    private static String text(JsonNode job, String field) throws Unreadable {
        JsonNode value = job.get(field);
        if (value == null || !value.isTextual() || value.asText().isEmpty()) {
            throw new Unreadable(field + " missing");
        }
        return value.asText();
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException error) {
            throw new IllegalStateException(error); // every Java runtime has SHA-256
        }
    }

    static String sha256(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8));
    }
}
