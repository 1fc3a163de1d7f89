/** Placeholder: the agent package is built in a later issue. */
export const PACKAGE_NAME = '@lockgate/agent';
