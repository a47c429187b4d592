"""Built-in readers and writers: CSV and Parquet."""
