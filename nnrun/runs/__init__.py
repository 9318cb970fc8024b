"""The run-folder format: atomic writes, run.json statuses, reading folders back.
Never imports TensorFlow."""
