"""The schoolgate dashboard: a separate process for IT staff, teachers and
department staff. It meets the proxy only through the policy files and the store."""
