package activities

import "context"

// VerifyLedgerResult lists each discrepancy in words; empty means clean.
type VerifyLedgerResult struct {
	Discrepancies []string
}

// VerifyLedger reconciles every account's cached balance with its entries.
func (a *Activities) VerifyLedger(ctx context.Context) (VerifyLedgerResult, error) {
	ds, err := a.Ledger.Verify(ctx)
	if err != nil {
		return VerifyLedgerResult{}, err
	}
	out := VerifyLedgerResult{}
	for _, d := range ds {
		out.Discrepancies = append(out.Discrepancies, d.String())
	}
	return out, nil
}
