"""`Size`: the tuple subclass PyTorch returns for shapes (`torch.Size([2, 3])`)."""


class Size(tuple):
    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(d) for d in self)}])"

    def numel(self) -> int:
        n = 1
        for d in self:
            n *= d
        return n
