// Invocation labels for riscv32 MCS, in the order the kernel's generator numbers them.

export const invocationLabels = [
  'InvalidInvocation',
  'UntypedRetype',
  'TCBReadRegisters',
  'TCBWriteRegisters',
  'TCBCopyRegisters',
  'TCBConfigure',
  'TCBSetPriority',
  'TCBSetMCPriority',
  'TCBSetSchedParams',
  'TCBSetTimeoutEndpoint',
  'TCBSetIPCBuffer',
  'TCBSetSpace',
  'TCBSuspend',
  'TCBResume',
  'TCBBindNotification',
  'TCBUnbindNotification',
  'TCBSetTLSBase',
  'TCBSetFlags',
  'CNodeRevoke',
  'CNodeDelete',
  'CNodeCancelBadgedSends',
  'CNodeCopy',
  'CNodeMint',
  'CNodeMove',
  'CNodeMutate',
  'CNodeRotate',
  'IRQIssueIRQHandler',
  'IRQAckIRQ',
  'IRQSetIRQHandler',
  'IRQClearIRQHandler',
  'DomainSetSet',
  'DomainScheduleConfigure',
  'DomainScheduleSetStart',
  'SchedControlConfigureFlags',
  'SchedContextBind',
  'SchedContextUnbind',
  'SchedContextUnbindObject',
  'SchedContextConsumed',
  'SchedContextYieldTo',
  'RISCVPageTableMap',
  'RISCVPageTableUnmap',
  'RISCVPageMap',
  'RISCVPageUnmap',
  'RISCVPageGetAddress',
  'RISCVASIDControlMakePool',
  'RISCVASIDPoolAssign',
  'RISCVIRQIssueIRQHandlerTrigger',
] as const;

export type InvocationLabelName = (typeof invocationLabels)[number];

export const InvocationLabel = Object.fromEntries(invocationLabels.map((name, i) => [name, i])) as {
  readonly [K in InvocationLabelName]: number;
};

export const nInvocationLabels = invocationLabels.length;

export function invocationLabelName(label: number): string {
  return invocationLabels[label] ?? `label(${label})`;
}
