import torch
torch.manual_seed(0)
w = torch.randn(3, requires_grad=True)
seen = []
def hook(p):
    seen.append(p.grad.clone())
    with torch.no_grad():
        p -= 0.1 * p.grad
    p.grad = None
h = w.register_post_accumulate_grad_hook(hook)
for _ in range(2):
    (w * w).sum().backward()
print(w, seen, w.grad)
h.remove()
(w * 2).sum().backward(); print(w.grad, len(seen))
try: (w*2).register_post_accumulate_grad_hook(hook)
except RuntimeError as e: print(e)
try: torch.ones(2).register_post_accumulate_grad_hook(hook)
except RuntimeError as e: print(e)
x = torch.ones(2, requires_grad=True)
x.register_hook(lambda g: g * 10)
x.register_post_accumulate_grad_hook(lambda t: print("post", t.grad))
(x * 3).sum().backward()
