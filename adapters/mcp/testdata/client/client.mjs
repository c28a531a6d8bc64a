// Drives the DREDGE MCP server with the official TypeScript SDK client and
// prints what it saw as one JSON object on stdout (TestNodeClient checks it).
//
//   node client.mjs stdio <path to the mcp-server binary>
//   node client.mjs http  <Streamable HTTP endpoint, e.g. http://127.0.0.1:3002/mcp>
//
// Over http, the environment variable DREDGE_API_KEY is sent as
// "Authorization: Bearer <key>".
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

async function main() {
  const [mode, target] = process.argv.slice(2);
  let transport;
  if (mode === 'stdio') {
    // The server's stderr (its logs) passes through to ours.
    transport = new StdioClientTransport({ command: target, args: [], stderr: 'inherit' });
  } else if (mode === 'http') {
    // DREDGE_API_KEY, when set, is presented as the service's API key.
    const key = process.env.DREDGE_API_KEY;
    const requestInit = key ? { headers: { Authorization: `Bearer ${key}` } } : undefined;
    transport = new StreamableHTTPClientTransport(new URL(target), { requestInit });
  } else {
    throw new Error(`usage: node client.mjs stdio|http <binary|url>, got mode ${mode}`);
  }

  const client = new Client({ name: 'dredge-node-test', version: '1.0.0' });
  await client.connect(transport);
  // The progress notifications and responses in the order they arrive,
  // before the SDK dispatches them: it runs a notification's handler a
  // microtask later but a response's at once, so a notification that
  // arrives in the same read as its response never reaches onprogress
  // (typescript-sdk issue 2580). The server's order is checked on this.
  const arrived = [];
  const dispatch = transport.onmessage;
  transport.onmessage = (msg, extra) => {
    if (msg.method === 'notifications/progress') {
      arrived.push({ progress: msg.params.progress, total: msg.params.total });
    } else if (msg.id !== undefined && msg.method === undefined) {
      arrived.push({ response: msg.id });
    }
    return dispatch.call(transport, msg, extra);
  };
  const out = { mode, server: client.getServerVersion(), calls: {} };

  const { tools } = await client.listTools();
  out.tools = tools.map((t) => t.name);
  out.required = Object.fromEntries(tools.map((t) => [t.name, t.inputSchema.required ?? []]));

  async function call(label, name, args) {
    const r = await client.callTool({ name, arguments: args });
    out.calls[label] = {
      isError: r.isError ?? false,
      structured: r.structuredContent ?? null,
      text: r.content?.[0]?.text ?? '',
    };
    return r;
  }
  await call('string_spectrum', 'string_spectrum', { max_modes: 4 });
  await call('unified_inference', 'unified_inference', {
    dredge_insight: 'node client',
    quasimoto_coords: [0.25, 0.75],
    string_modes: [1, 2, 3],
  });
  const loaded = await call('load_model', 'load_model', { model_type: 'quasimoto_1d' });
  await call('inference', 'inference', {
    model_id: loaded.structuredContent?.model_id,
    inputs: { x: [0, 0.5, 1], t: [0, 0, 0] },
  });
  await call('bad_spectrum', 'string_spectrum', { max_modes: 0 });
  await call('bad_inference', 'inference', { model_id: 'no_such_model', inputs: { x: [0], t: [0] } });

  // benchmark called directly with a progress token (the SDK sets one for
  // onprogress): the server reports the epochs as notifications.
  out.benchmarkProgress = [];
  arrived.length = 0;
  const bench = await client.callTool(
    { name: 'benchmark', arguments: { model_type: 'quasimoto_ensemble', config: { n_waves: 4, epochs: 2000 } } },
    undefined,
    { onprogress: (p) => out.benchmarkProgress.push(p), timeout: 120000 },
  );
  out.benchmarkArrived = arrived.slice();
  out.calls.benchmark = { isError: bench.isError ?? false, structured: bench.structuredContent ?? null, text: bench.content?.[0]?.text ?? '' };

  // A job: a benchmark of a few seconds (several of the pool's 1 s
  // heartbeats, which carry its progress to the queue) submitted with submit_job and
  // followed with get_job (wait) and a progress token, which the SDK sets
  // for onprogress.
  const submitted = await call('submit_job', 'submit_job', {
    operation: 'benchmark',
    params: { model_type: 'quasimoto_1d', config: { epochs: 100000 } },
  });
  out.jobProgress = [];
  const job = await client.callTool(
    { name: 'get_job', arguments: { job_id: submitted.structuredContent?.job_id, wait: true } },
    undefined,
    { onprogress: (p) => out.jobProgress.push(p), timeout: 120000 },
  );
  out.calls.get_job = { isError: job.isError ?? false, structured: job.structuredContent ?? null, text: job.content?.[0]?.text ?? '' };

  try {
    await client.callTool({ name: 'no_such_tool', arguments: {} });
    out.unknownTool = '';
  } catch (e) {
    out.unknownTool = String(e?.message ?? e);
  }

  const { resources } = await client.listResources();
  out.resources = resources.map((r) => r.uri);
  const models = await client.readResource({ uri: 'dredge://models' });
  out.models = JSON.parse(models.contents[0].text);

  await client.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  console.error('client.mjs:', e?.stack ?? e);
  process.exit(1);
});
