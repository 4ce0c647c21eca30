"""cloudkeep: a local, self-hostable AWS security cloud that speaks the AWS wire protocols."""

__version__ = "0.1.0"
