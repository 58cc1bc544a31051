"""Cloud bills: one connector per provider format, all normalised to FOCUS in dbt.

Landing layout (`<landing>/cloud_costs/`):

- `gcp/**/*.{jsonl,json,parquet,csv}`: GCP Cloud Billing export to BigQuery (standard or
  detailed schema), exported files or written by `bigquery.land_month` (live REST API);
- `aws/**/*.{parquet,csv}`: AWS CUR 2.0 (Data Exports) or legacy CUR;
- `azure/**/*.csv`: Azure Cost Management exports, EA or MCA (actual or amortized);
- `focus/**/*.{csv,parquet}`: FOCUS 1.0-1.2 files from any provider.

A month's costs for one billing account must come from one format only (a FOCUS export and
a CUR of the same account and month would both be counted). A later file for the same
billing account and billing month restates it (see the staging models).
"""
