package id.ektp.examples.station;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.jwk.OctetKeyPair;
import java.text.ParseException;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Checks a job's approval token as the contract says (README "The central server", central_sim/signing.py):
 * a compact JWS, alg EdDSA over Ed25519, whose `kid` names a key of central's JWK Set, and whose payload
 * is about this very job: the same `request_id`, the same person (`sub` is the job's citizen key, or the
 * SHA-256 hex of the card's NIK when `sub_kind` is `nik_sha256`) and `decision` PRINT_READY_RECORD.
 */
final class ApprovalVerifier {
    // The contract fixes `EdDSA`; RFC 9864's fully specified `Ed25519` names the same signature.
    private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519);

    /** What a token came to. */
    sealed interface Verdict permits Verified, Refused {
    }

    /** Central signed this job's print-ready decision with key `kid`. */
    record Verified(String kid) implements Verdict {
    }

    /** The approval does not verify: the job is never printed. `reason` is a short code, `detail` for people. */
    record Refused(String reason, String kid, String detail) implements Verdict {
    }

    private final CentralKeys keys;

    ApprovalVerifier(CentralKeys keys) {
        this.keys = keys;
    }

    Verdict verify(PrintJob job) throws CentralKeys.Unavailable {
        if (job.approvalToken().isEmpty()) {
            return new Refused("missing_token", null, "the job carries no approval token");
        }
        JWSObject token;
        try {
            token = JWSObject.parse(job.approvalToken());
        } catch (ParseException error) {
            return new Refused("malformed_token", null, "not a compact JWS: " + error.getMessage());
        }
        String kid = token.getHeader().getKeyID();
        if (!ALGORITHMS.contains(token.getHeader().getAlgorithm())) {
            return new Refused("unsupported_algorithm", kid, "alg " + token.getHeader().getAlgorithm() + " is not EdDSA");
        }
        if (kid == null) {
            return new Refused("unknown_key", null, "the token names no kid");
        }
        OctetKeyPair key = keys.keyFor(kid);
        if (key == null) {
            return new Refused("unknown_key", kid, "central has no key with this kid");
        }
        try {
            if (!token.verify(new Ed25519Verifier(key))) {
                return new Refused("bad_signature", kid, "the signature does not verify");
            }
        } catch (JOSEException | IllegalStateException error) {
            return new Refused("bad_signature", kid, "the signature does not verify: " + error.getMessage());
        }
        Map<String, Object> claims = token.getPayload().toJSONObject();
        if (claims == null) {
            return new Refused("malformed_token", kid, "the payload is not a JSON object");
        }
        return checkClaims(job, kid, claims);
    }

    private static Verdict checkClaims(PrintJob job, String kid, Map<String, Object> claims) {
        if (!job.requestId().equals(claims.get("request_id"))) {
            return new Refused("request_mismatch", kid, "the approval is for another request");
        }
        Object subject = claims.get("sub");
        boolean samePerson = job.citizenKey().equals(subject)
                || "nik_sha256".equals(claims.get("sub_kind")) && Objects.equals(PrintJob.sha256(job.nik()), subject);
        if (!samePerson) {
            return new Refused("subject_mismatch", kid, "the approval is for another person");
        }
        if (!PrintJob.PRINT_READY.equals(claims.get("decision"))) {
            return new Refused("not_print_ready", kid, "central decided " + claims.get("decision"));
        }
        return new Verified(kid);
    }
}
