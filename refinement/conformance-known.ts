// Recorded traces known to disagree with the model, each with the reason and the issue that
// will fix it. A known failure does not fail the conformance run (unless --strict); one that
// passes again is reported so that it is taken off this list.

export interface KnownFailure {
  /** The data file's name, e.g. `cnode-untyped.json`. */
  readonly file: string;
  readonly trace: string;
  readonly reason: string;
  readonly issue: string;
}

const zombieIssue = 'issue 12: Zombies';
const parkedZombie =
  'deleting the last cap to a CNode whose slots hold the last cap to another CNode parks that CNode as a Zombie in its own slot 0 ' +
  '(reduceZombie without immediate, capSwapForDelete): its contents stay, and its untyped is not reset; every layer deletes it outright';

export const knownFailures: readonly KnownFailure[] = [
  { file: 'cnode-untyped.json', trace: 'zombie-cnode-in-deleted-cnode', reason: parkedZombie, issue: zombieIssue },
  { file: 'cnode-untyped.json', trace: 'zombie-cnode-in-last-slot', reason: parkedZombie, issue: zombieIssue },
  {
    file: 'generated-1.json',
    trace: 'gen1-085',
    reason: `${parkedZombie}; here the parked CNode holds the untyped being revoked, so seL4's revoke goes on deleting its other children`,
    issue: zombieIssue,
  },
];

export function knownFailureOf(file: string, trace: string): KnownFailure | null {
  return knownFailures.find((k) => k.file === file && k.trace === trace) ?? null;
}
