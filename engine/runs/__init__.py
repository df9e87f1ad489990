"""Engine runs: plan → fetch → parse → load → record, with a ledger, a lock and progress."""
