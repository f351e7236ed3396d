# By the baseline's name: its definition is read from vCenter.
terraform import vmgmt_config_baseline.tier1 tier-1-hardening
