/** A bad command line or input file: reported with the command's usage, exit status 2. */
export class UsageError extends Error {}
