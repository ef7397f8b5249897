package id.ektp.examples.station;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Central's public keys from its JWK Set (`GET <central>/v1/jwks`), cached by kid.
 *
 * <p>Fetched on first need, again when a token names a kid the cache does not know (at most once a
 * second) and when the set is an hour old. The last set fetched is saved in the state folder, so that a
 * station restarted while central is down still verifies with the keys it knew. When the kid is unknown
 * and the set cannot be fetched, {@link Unavailable} says so: the job waits, it is never printed unverified.
 */
final class CentralKeys {
    private static final Duration REFRESH_AT_MOST_EVERY = Duration.ofSeconds(1);
    private static final Duration MAX_AGE = Duration.ofHours(1);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    /** Central's keys cannot be fetched now and the kid is not known: try the job again later. */
    static final class Unavailable extends Exception {
        Unavailable(String reason) {
            super(reason);
        }
    }

    private final URI url;
    private final Path savedSet;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    private Map<String, OctetKeyPair> keys = new HashMap<>();
    private long fetchedAt = Long.MIN_VALUE; // System.nanoTime() of the last fetch; a saved set counts as old

    CentralKeys(String url, Path savedSet) {
        this.url = URI.create(url);
        this.savedSet = savedSet;
        if (Files.exists(savedSet)) {
            try {
                keys = ed25519Keys(JWKSet.parse(Files.readString(savedSet)));
            } catch (IOException | ParseException error) {
                Log.warning("saved JWK Set unreadable; fetching it again", "error", error.getMessage());
            }
        }
    }

    /** Central's key `kid`, or null when central has no such key (after one refresh). */
    OctetKeyPair keyFor(String kid) throws Unavailable {
        long now = System.nanoTime();
        boolean neverFetched = fetchedAt == Long.MIN_VALUE;
        boolean stale = neverFetched || now - fetchedAt > MAX_AGE.toNanos();
        boolean mayRefresh = neverFetched || now - fetchedAt >= REFRESH_AT_MOST_EVERY.toNanos();
        if ((!keys.containsKey(kid) || stale) && mayRefresh) {
            try {
                refresh();
            } catch (Unavailable error) {
                if (!keys.containsKey(kid)) {
                    throw error;
                }
                // A key we knew still verifies: central being down must not stop printing.
                Log.warning("central's JWK Set could not be refreshed; using the keys known", "error", error.getMessage());
            }
        }
        return keys.get(kid);
    }

    private void refresh() throws Unavailable {
        fetchedAt = System.nanoTime(); // a failed fetch counts too: at most one try a second
        String body;
        try {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(url).timeout(TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new Unavailable("GET " + url + ": HTTP " + response.statusCode());
            }
            body = response.body();
            keys = ed25519Keys(JWKSet.parse(body));
        } catch (IOException | ParseException error) {
            throw new Unavailable("GET " + url + ": " + error);
        } catch (InterruptedException error) {
            Thread.currentThread().interrupt();
            throw new Unavailable("GET " + url + ": interrupted");
        }
        Log.info("central's keys fetched", "kids", keys.keySet());
        try {
            Durable.writeAtomically(savedSet, body.getBytes(StandardCharsets.UTF_8));
        } catch (IOException error) {
            Log.warning("could not save central's JWK Set", "error", error.getMessage());
        }
    }

    /** The public Ed25519 signing keys of a set, by kid; any other key could not sign EdDSA and is ignored. */
    private static Map<String, OctetKeyPair> ed25519Keys(JWKSet set) {
        Map<String, OctetKeyPair> found = new HashMap<>();
        for (JWK key : set.getKeys()) {
            if (key instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve()) && !okp.isPrivate()
                    && okp.getKeyID() != null && (okp.getKeyUse() == null || KeyUse.SIGNATURE.equals(okp.getKeyUse()))) {
                found.put(okp.getKeyID(), okp);
            }
        }
        return found;
    }
}
