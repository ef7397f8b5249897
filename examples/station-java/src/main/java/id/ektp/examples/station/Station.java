package id.ektp.examples.station;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * The station's one loop: read jobs, verify each approval, print each request's card once, report it.
 *
 * <p>The order that makes it safe to kill at any instant: the journal line before the act it
 * announces (a card's serials before the card, the refusal before its note), the card file before the
 * journal says "printed", Kafka's acknowledgement (acks=all) before the journal says "reported", and every
 * job of a batch reported or refused before the batch's offsets are committed. A job read again, after a
 * crash, a failed commit or because it was sent twice, finds its request's card in the journal and is
 * never printed again.
 */
final class Station {
    private static final Duration RETRY = Duration.ofSeconds(1);

    /** The station is stopping: leave the current batch uncommitted, it is read again at the next start. */
    private static final class Stopping extends RuntimeException {
    }

    private final Config config;
    private final Journal journal;
    private final ApprovalVerifier verifier;
    private final CardPrinter printer;
    private final Consumer<byte[], byte[]> jobs;
    private final Producer<byte[], byte[]> producer;
    private final AtomicBoolean stopping;
    private final Clock clock = Clock.systemUTC();

    Station(Config config, Journal journal, ApprovalVerifier verifier, CardPrinter printer,
            Consumer<byte[], byte[]> jobs, Producer<byte[], byte[]> producer, AtomicBoolean stopping) {
        this.config = config;
        this.journal = journal;
        this.verifier = verifier;
        this.printer = printer;
        this.jobs = jobs;
        this.producer = producer;
        this.stopping = stopping;
    }

    void run() throws IOException {
        try {
            finishWhatACrashLeft();
            jobs.subscribe(List.of(Messages.PRINT_REQUESTED));
            Log.info("station ready", "station_id", config.stationId(), "office_code", config.officeCode(),
                    "group_id", config.groupId(), "out_dir", config.outDir());
            while (!stopping.get()) {
                takeBatch(jobs.poll(Duration.ofMillis(500)));
            }
        } catch (WakeupException | Stopping stop) {
            // stopping: whatever the batch did is in the journal, and its offsets are not committed
        }
        Log.info("station stopped", "station_id", config.stationId());
    }

    /** Cards that came out but were not reported, refusals not noted: sent now, as the same events. */
    private void finishWhatACrashLeft() throws IOException {
        for (Journal.Card card : journal.cards()) {
            if (!card.printed()) {
                // Reserved before the crash: printed if its file is there, else printed when its job comes again.
                var printedAt = printer.printedAt(card.cardSerial());
                if (printedAt.isEmpty()) {
                    continue;
                }
                Log.info("card found printed after a restart", "request_id", card.requestId(), "card_serial", card.cardSerial());
                card = journal.printed(card, printedAt.get());
            }
            report(card);
        }
        for (Journal.Refusal refusal : journal.refusals()) {
            note(refusal);
        }
    }

    private void takeBatch(ConsumerRecords<byte[], byte[]> records) throws IOException {
        Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
        for (TopicPartition partition : records.partitions()) {
            for (ConsumerRecord<byte[], byte[]> record : records.records(partition)) {
                if (!take(record)) {
                    jobs.seek(partition, record.offset()); // read it again after a pause, and what follows it
                    sleep(RETRY);
                    break;
                }
                done.put(partition, new OffsetAndMetadata(record.offset() + 1));
            }
        }
        if (done.isEmpty()) {
            return;
        }
        try {
            jobs.commitSync(done);
        } catch (WakeupException stop) {
            throw stop;
        } catch (KafkaException error) {
            // The group moved on (a rebalance, a long outage): these jobs come again and the journal knows them.
            Log.warning("offset commit failed; the batch's jobs will be read again", "error", error.toString());
        }
    }

    /** One job, done for good (printed and reported, refused and noted, or not ours); false: try it later. */
    private boolean take(ConsumerRecord<byte[], byte[]> record) throws IOException {
        PrintJob job;
        try {
            job = PrintJob.decode(record.value());
        } catch (PrintJob.Unreadable error) {
            Log.error("unreadable print job skipped", "partition", record.partition(), "offset", record.offset(),
                    "reason", error.getMessage());
            return true;
        }
        if (!job.isFor(config.officeCode(), config.stationId())) {
            return true;
        }
        Journal.Refusal refused = journal.refusal(job.jobKey());
        if (refused != null) {
            note(refused); // this very message was refused before: nothing new to say
            return true;
        }
        ApprovalVerifier.Verdict verdict;
        try {
            verdict = verifier.verify(job);
        } catch (CentralKeys.Unavailable error) {
            Log.warning("approval not verifiable now: central's keys unavailable; job waits",
                    "request_id", job.requestId(), "error", error.getMessage());
            return false;
        }
        if (verdict instanceof ApprovalVerifier.Refused refusal) {
            refuse(job, refusal);
        } else {
            printOnce(job, (ApprovalVerifier.Verified) verdict);
        }
        return true;
    }

    private void printOnce(PrintJob job, ApprovalVerifier.Verified verified) throws IOException {
        Journal.Card card = journal.card(job.requestId());
        if (card != null && card.printed()) {
            Log.info("request already has a card: not printed again", "request_id", job.requestId(),
                    "job_id", job.jobId(), "card_serial", card.cardSerial());
            report(card);
            return;
        }
        if (card == null) {
            card = journal.reserve(job);
        }
        var printedBefore = printer.printedAt(card.cardSerial()); // came out just before a crash: never again
        var printedAt = printedBefore.isPresent() ? printedBefore.get()
                : printer.print(card, job.card(), clock.instant());
        if ("after-card".equals(config.crashAt())) {
            Runtime.getRuntime().halt(137); // tests only: killed with the card out and nothing else recorded
        }
        card = journal.printed(card, printedAt);
        Log.info("card printed", "request_id", card.requestId(), "job_id", card.jobId(), "kid", verified.kid(),
                "card_serial", card.cardSerial(), "blank_serial", card.blankSerial());
        report(card);
    }

    private void refuse(PrintJob job, ApprovalVerifier.Refused verdict) throws IOException {
        Log.critical("SECURITY ALERT forged approval", "request_id", job.requestId(), "job_id", job.jobId(),
                "kid", verdict.kid(), "reason", verdict.reason(), "detail", verdict.detail(),
                "office_code", job.officeCode());
        note(journal.refuse(job, verdict, clock.instant()));
    }

    private void report(Journal.Card card) throws IOException {
        if (!card.reported()) {
            send(Messages.cardPrinted(card, config.stationId()));
            journal.reported(card);
        }
    }

    private void note(Journal.Refusal refusal) throws IOException {
        if (!refusal.noted()) {
            send(Messages.refusalNote(refusal, config.stationId()));
            journal.noted(refusal);
        }
    }

    /** Sends until the brokers acknowledge it (acks=all), however long they are away, unless the station stops. */
    private void send(ProducerRecord<byte[], byte[]> message) {
        Future<RecordMetadata> acknowledged = producer.send(message);
        while (true) {
            try {
                acknowledged.get(1, TimeUnit.SECONDS);
                return;
            } catch (TimeoutException stillOnItsWay) {
                if (stopping.get()) {
                    throw new Stopping();
                }
            } catch (ExecutionException error) {
                // The producer gave up (delivery.timeout.ms): the same message again, the same event for readers.
                Log.warning("sending to Kafka failed; trying again", "topic", message.topic(), "error", error.getCause());
                sleep(RETRY);
                acknowledged = producer.send(message);
            } catch (InterruptedException error) {
                Thread.currentThread().interrupt();
                throw new Stopping();
            }
        }
    }

    private void sleep(Duration pause) {
        if (stopping.get()) {
            throw new Stopping();
        }
        try {
            Thread.sleep(pause.toMillis());
        } catch (InterruptedException error) {
            Thread.currentThread().interrupt();
            throw new Stopping();
        }
    }
}
