// Placeholder while the engine lands: replaced by the real handler in the next commits.
export const handler = async (): Promise<{ results: unknown[] }> => ({ results: [] });
