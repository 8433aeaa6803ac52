from app.notifications.cli import cli

cli()
