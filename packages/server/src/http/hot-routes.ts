/**
 * The log level of the routes every target calls all the time (check-in, channel index and
 * stream, reports): their requests are not logged one by one, which at fleet scale costs more
 * than answering them; errors still are.
 */
export const HOT_ROUTE_LOG_LEVEL = 'warn';
