"""Every message of ektp-pipeline as a typed model, and the NIK/KK rules. Imports nothing of ours."""
