"""The education department's server: receives the schools' signed exports,
shows many schools at once, and publishes signed lists for the schools."""
