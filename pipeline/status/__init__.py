"""Reading requests' statuses from `ektp.request.status`, as any client can: one request, or a live view of all."""
