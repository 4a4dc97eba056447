// seL4_Error and seL4_LookupFailureType, as numbered on the wire.

export const seL4_Error = {
  seL4_NoError: 0,
  seL4_InvalidArgument: 1,
  seL4_InvalidCapability: 2,
  seL4_IllegalOperation: 3,
  seL4_RangeError: 4,
  seL4_AlignmentError: 5,
  seL4_FailedLookup: 6,
  seL4_TruncatedMessage: 7,
  seL4_DeleteFirst: 8,
  seL4_RevokeFirst: 9,
  seL4_NotEnoughMemory: 10,
} as const;
export type seL4_Error = (typeof seL4_Error)[keyof typeof seL4_Error];
export const seL4_NumErrors = 11;

export const errorName: readonly string[] = Object.keys(seL4_Error);

export const seL4_LookupFailureType = {
  seL4_NoFailure: 0,
  seL4_InvalidRoot: 1,
  seL4_MissingCapability: 2,
  seL4_DepthMismatch: 3,
  seL4_GuardMismatch: 4,
} as const;
export type seL4_LookupFailureType = (typeof seL4_LookupFailureType)[keyof typeof seL4_LookupFailureType];

/**
 * A lookup failure as the kernel reports it. Fields follow seL4's message order:
 * the words after the type are exactly `lookupFailureWords` of it.
 */
export type LookupFailure =
  | { readonly type: 'InvalidRoot' }
  | { readonly type: 'MissingCapability'; readonly bitsLeft: number }
  | { readonly type: 'DepthMismatch'; readonly bitsLeft: number; readonly bitsFound: number }
  | { readonly type: 'GuardMismatch'; readonly bitsLeft: number; readonly guardFound: number; readonly bitsFound: number };

/** The wire words of a lookup failure: its type, then its fields. */
export function lookupFailureWords(failure: LookupFailure): number[] {
  switch (failure.type) {
    case 'InvalidRoot':
      return [seL4_LookupFailureType.seL4_InvalidRoot];
    case 'MissingCapability':
      return [seL4_LookupFailureType.seL4_MissingCapability, failure.bitsLeft];
    case 'DepthMismatch':
      return [seL4_LookupFailureType.seL4_DepthMismatch, failure.bitsLeft, failure.bitsFound];
    case 'GuardMismatch':
      return [seL4_LookupFailureType.seL4_GuardMismatch, failure.bitsLeft, failure.guardFound, failure.bitsFound];
  }
}

/**
 * A syscall error as a decode function returns it; `syscallErrorWords` gives the
 * message registers of the error reply, in order.
 */
export type SyscallError =
  | { readonly error: 'InvalidArgument'; readonly argumentIndex: number }
  | { readonly error: 'InvalidCapability'; readonly capIndex: number }
  | { readonly error: 'IllegalOperation' }
  | { readonly error: 'RangeError'; readonly min: number; readonly max: number }
  | { readonly error: 'AlignmentError' }
  | { readonly error: 'FailedLookup'; readonly source: boolean; readonly failure: LookupFailure }
  | { readonly error: 'TruncatedMessage' }
  | { readonly error: 'DeleteFirst' }
  | { readonly error: 'RevokeFirst' }
  | { readonly error: 'NotEnoughMemory'; readonly bytesAvailable: number };

export function syscallErrorCode(err: SyscallError): seL4_Error {
  return seL4_Error[`seL4_${err.error}`];
}

export function syscallErrorWords(err: SyscallError): number[] {
  switch (err.error) {
    case 'InvalidArgument':
      return [err.argumentIndex];
    case 'InvalidCapability':
      return [err.capIndex];
    case 'RangeError':
      return [err.min >>> 0, err.max >>> 0];
    case 'FailedLookup':
      return [err.source ? 1 : 0, ...lookupFailureWords(err.failure)];
    case 'NotEnoughMemory':
      return [err.bytesAvailable >>> 0];
    case 'IllegalOperation':
    case 'AlignmentError':
    case 'TruncatedMessage':
    case 'DeleteFirst':
    case 'RevokeFirst':
      return [];
  }
}
