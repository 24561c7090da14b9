"""Live video inspection: booked WebRTC sessions relayed, recorded and captured as encoded
packets (no server-side video transcoding; see ``../shared/research/aiortc.md`` section 11)."""
