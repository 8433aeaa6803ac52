"""Settings, the error vocabulary and logging: what every other part of the app builds on."""
