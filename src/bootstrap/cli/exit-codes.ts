/** Process exit codes of the CLI. */
export const EXIT_OK = 0;
/** Startup failed or the server stopped on an error. */
export const EXIT_FAILURE = 1;
/** Bad usage: unknown flag, invalid value, missing subcommand. */
export const EXIT_USAGE = 2;
