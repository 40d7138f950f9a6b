"""A Postal stand-in held to tests/contract/postal: the legacy API, the admin API, SMTP submission,
signed webhooks and MariaDB-backed state, with the command names and ports of Postal's image."""
