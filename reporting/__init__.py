"""What people read: the monthly leadership report and the charts and tables of the notebooks."""
