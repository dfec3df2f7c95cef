/** The tool's name and version, recorded in every manifest and results file. */
export const TOOL_VERSION = 'influence-lens 0.1.0';
