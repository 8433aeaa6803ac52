"""What operators run on the data as a whole: backup and restore, key rotation."""
