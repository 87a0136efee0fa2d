/**
 * A preload for the benchmarks' service processes (`node --import <this file>`, passed by `make storm` through
 * NODE_OPTIONS; production code is untouched): it records every outgoing HTTP request the process makes — AWS SDK
 * calls (node:http, whatever copy of the SDK the bundle holds), the Twilio SDK (axios → node:http) and Resend
 * (fetch → undici) — and the process's CPU time, as JSON lines in `$SDK_TALLY_DIR/<SDK_TALLY_ROLE>-<pid>.jsonl`,
 * flushed every 200 ms (a SIGKILL loses at most the last 200 ms):
 *
 *   {"t":"p","at":<epoch ms>,"cpu":<user+system µs>}                      a CPU sample (also the first line)
 *   {"t":"r","s":<start ms>,"e":<end ms>,"svc":"dynamodb|kinesis|scheduler|s3|provider|other","op":"PutItem",
 *    "table":"…","path":"…","reqB":<n>,"resB":<n>,"cu":<capacity units>,"status":<n>}   one request
 *
 * `s` is when the request body was handed to the socket (ClientRequest#end / undici's request creation), `e` when
 * the response ended (undici: its headers arrived). With SDK_TALLY_CAPACITY=1 every DynamoDB request asks for
 * `ReturnConsumedCapacity: TOTAL` (the body is rewritten before it is sent: dynalite does not check signatures,
 * AWS would refuse it) and `cu` sums the CapacityUnits of the answer. test/bench/sdk-tally.ts reads the files.
 */
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const dir = process.env.SDK_TALLY_DIR;
if (dir) {
  const file = path.join(dir, `${process.env.SDK_TALLY_ROLE ?? 'proc'}-${process.pid}.jsonl`);
  const capacity = process.env.SDK_TALLY_CAPACITY === '1';
  const providers = [process.env.TWILIO_API_BASE_URL, process.env.RESEND_BASE_URL]
    .filter(Boolean)
    .map((u) => new URL(u).host);
  const schedulerHost = process.env.SCHEDULER_ENDPOINT ? new URL(process.env.SCHEDULER_ENDPOINT).host : undefined;
  const s3Host = process.env.S3_ENDPOINT ? new URL(process.env.S3_ENDPOINT).host : undefined;
  let buffer = [];
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const flush = () => {
    buffer.push(JSON.stringify({ t: 'p', at: Date.now(), cpu: cpu() }));
    fs.appendFileSync(file, `${buffer.join('\n')}\n`);
    buffer = [];
  };
  flush();
  setInterval(flush, 200).unref();
  process.on('exit', flush);

  const classify = (host, pathname, target) => {
    if (target) {
      const [api, op] = String(target).split('.');
      return { svc: api.startsWith('DynamoDB') ? 'dynamodb' : api.startsWith('Kinesis') ? 'kinesis' : 'other', op };
    }
    if (providers.includes(host)) return { svc: 'provider', op: pathname.split('?')[0] };
    if (host === schedulerHost) return { svc: 'scheduler', op: '' };
    if (host === s3Host) return { svc: 's3', op: '' };
    return { svc: 'other', op: '' };
  };
  const pending = new WeakMap();

  const end = http.ClientRequest.prototype.end;
  http.ClientRequest.prototype.end = function (chunk, ...rest) {
    try {
      const host = this.getHeader('host') ?? this.host;
      const rec = { t: 'r', s: Date.now(), ...classify(host, this.path, this.getHeader('x-amz-target')) };
      if (rec.svc === 'scheduler') rec.op = `${this.method} ${this.path.split('/')[1] ?? ''}`;
      if (rec.svc === 's3') {
        rec.op = this.method;
        rec.path = this.path;
      }
      if (rec.svc === 'dynamodb' && chunk !== undefined && typeof chunk !== 'function') {
        let body = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        rec.table = /"TableName":"([^"]+)"/.exec(body)?.[1];
        if (capacity && !body.includes('"ReturnConsumedCapacity"') && body.startsWith('{')) {
          body =
            body === '{}' ? '{"ReturnConsumedCapacity":"TOTAL"}' : `{"ReturnConsumedCapacity":"TOTAL",${body.slice(1)}`;
          this.setHeader('content-length', Buffer.byteLength(body));
          chunk = body;
        }
      }
      rec.reqB = chunk === undefined || typeof chunk === 'function' ? 0 : Buffer.byteLength(chunk);
      pending.set(this, rec);
    } catch {
      // never break a request for a tally
    }
    return end.call(this, chunk, ...rest);
  };
  dc.subscribe('http.client.response.finish', ({ request, response }) => {
    const rec = pending.get(request);
    if (!rec) return;
    pending.delete(request);
    rec.status = response.statusCode;
    rec.resB = 0;
    const text = rec.svc === 'dynamodb' ? [] : undefined;
    const push = response.push;
    response.push = function (c, enc) {
      if (c === null) {
        rec.e = Date.now();
        if (text) {
          let cu = 0;
          for (const m of text.join('').matchAll(/"CapacityUnits":([\d.]+)/g)) cu += Number(m[1]);
          rec.cu = cu;
        }
        buffer.push(JSON.stringify(rec));
      } else if (c) {
        rec.resB += c.length;
        text?.push(String(c));
      }
      return push.call(this, c, enc);
    };
  });

  const undici = new WeakMap();
  dc.subscribe('undici:request:create', ({ request }) => {
    const host = new URL(request.origin).host;
    undici.set(request, { t: 'r', s: Date.now(), ...classify(host, request.path), reqB: 0 });
  });
  dc.subscribe('undici:request:headers', ({ request, response }) => {
    const rec = undici.get(request);
    if (!rec) return;
    undici.delete(request);
    rec.e = Date.now();
    rec.status = response.statusCode;
    buffer.push(JSON.stringify(rec));
  });
}
