import { credentialStoreContract, type ContractSubject } from '../refresh-rotation/store-contract.js';
import { leaseRanOut, postgresHarness, until } from './support.js';

describe('postgresCredentialStore: the store contract', () => {
  const harness = postgresHarness();
  let subject: ContractSubject;
  beforeEach(() => {
    subject = {
      store: harness.store(),
      // Leases run out on the database's clock: poll it.
      expire: (key) => until(() => leaseRanOut(harness.pool, harness.table, key), `the lease of ${key} ran out`),
    };
  });

  credentialStoreContract(() => subject);
});
