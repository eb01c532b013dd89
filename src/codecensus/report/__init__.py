"""The report: a self-contained HTML file, its tables (CSV, Parquet, long format) and a terminal summary."""
