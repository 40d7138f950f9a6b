"""Everything that talks to Postal: its admin channel, its legacy send API, and its DNS expectations."""
