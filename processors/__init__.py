"""The logic of each step as plain functions: no faust, no aiokafka; imports `events` only."""
