"""The printing station: a downstream consumer of print jobs, as a printing-station vendor builds it.

`ektp station run --station TPI-01 [--office 2172]` runs one station as its own process:

- It consumes `ektp.print.requested` in the consumer group `ektp-station-<office_code>`. Jobs are keyed by
  office code, so all of an office's jobs sit in one partition: one station of the office is active (the
  one holding that partition) and the others stand by, taking the partition over on a rebalance when it
  stops. Jobs of other offices, or meant for another station (`station_id` set), are skipped.
- Offsets are committed by hand, once the batch's jobs are durable in the journal (journal.py), with
  metadata naming the station and the batch; a job is this station's to print once that commit went
  through. A standby that takes the partition over therefore never gets a job this station may print.
- Every approval token is verified against central's JWK Set (verify.py); a forged one is refused and
  raised as a security alert.
- Blank stock is kept in the journal and shown on `ektp.station.inventory`; out of blanks, jobs wait and
  resume on `ektp station restock`, first-time cards first when blanks are short (queue.py).
- Cards are PNGs written atomically (render.py) into a 0700 folder; `ektp.print.completed` is sent from
  the journal's outbox with acks=all, re-sent unchanged after a crash.
- The print work goes in batches of the jobs that are ready, up to a cap (engine.py): each durable step
  is one synced journal transaction for the whole batch (group commit); a lone job is a batch of one.
- Recovery (recovery.py) makes a SIGKILL at any instant safe: no request is ever printed twice.
- `/metrics` for Prometheus (metrics.py); `EKTP_STATION_CRASH_AT` is a crash hook for tests only (crash.py).
"""
