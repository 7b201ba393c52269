from . import milestone_billing_report
