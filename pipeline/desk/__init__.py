"""The desks: a recording desk's submissions fed to `ektp.enrollment.submitted`, raw bytes unchanged."""
