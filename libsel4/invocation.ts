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

/**
 * The labels each object's decode function handles (seL4's decodeTCBInvocation,
 * decodeRISCVFrameInvocation, ...). Any other label on a cap of that type is answered with
 * IllegalOperation before anything else is looked at. Endpoint, notification and reply caps
 * are not decoded by label, and untyped and CNode caps have decoders of their own.
 */
const labelsOfObject: Readonly<Record<string, readonly number[]>> = {
  thread: range(InvocationLabel.TCBReadRegisters, InvocationLabel.TCBSetFlags),
  irqcontrol: [InvocationLabel.IRQIssueIRQHandler, InvocationLabel.RISCVIRQIssueIRQHandlerTrigger],
  irqhandler: range(InvocationLabel.IRQAckIRQ, InvocationLabel.IRQClearIRQHandler),
  domain: range(InvocationLabel.DomainSetSet, InvocationLabel.DomainScheduleSetStart),
  schedcontrol: [InvocationLabel.SchedControlConfigureFlags],
  schedcontext: range(InvocationLabel.SchedContextBind, InvocationLabel.SchedContextYieldTo),
  pagetable: [InvocationLabel.RISCVPageTableMap, InvocationLabel.RISCVPageTableUnmap],
  frame: range(InvocationLabel.RISCVPageMap, InvocationLabel.RISCVPageGetAddress),
  asidcontrol: [InvocationLabel.RISCVASIDControlMakePool],
  asidpool: [InvocationLabel.RISCVASIDPoolAssign],
};

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** Whether `label` on a cap of `capType` is one its object's decode function does not know: IllegalOperation. */
export function isForeignLabel(capType: string, label: number): boolean {
  const own = labelsOfObject[capType];
  return own !== undefined && !own.includes(label);
}
