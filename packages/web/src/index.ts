/** Placeholder: the web package is built in a later issue. */
export const PACKAGE_NAME = '@lockgate/web';
