"""Cloud bills: one connector per provider format, all normalised to FOCUS in dbt.

Landing layout (`<landing>/cloud_costs/`), gzip-compressed files accepted throughout:

- `gcp/**/*.{jsonl,json,parquet,csv}`: GCP Cloud Billing export to BigQuery (standard or
  detailed schema), exported files or written by `bigquery.land_month` (live REST API);
- `aws/**/*.{parquet,csv}`: AWS CUR 2.0 (Data Exports) or legacy CUR, with their manifests;
- `azure/**/*.{csv,parquet}`: Azure Cost Management exports, EA, MCA or Pay-As-You-Go
  (actual or amortized), with partitioned runs' manifest.json;
- `focus/**/*.{csv,parquet}`: FOCUS 1.0-1.2 files from any provider, with the manifests of
  AWS Data Exports and Azure exports.

A month's costs for one billing account must come from one format only (a FOCUS export and
a CUR of the same account and month would both be counted). A newer delivery of the same
billing account and billing month replaces the older one as a whole (`deliveries`).
"""
